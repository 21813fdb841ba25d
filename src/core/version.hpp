// The exporter's version and git revision, from a file generated at build time (only that file
// is rebuilt when the revision changes).
#pragma once
#include <string_view>

namespace ke {

std::string_view version();
std::string_view revision();

}  // namespace ke
