// Standard base64 (RFC 4648 alphabet with padding, Go's base64.StdEncoding) over OpenSSL.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ke {

std::string base64_encode(std::string_view data);
// "" for ""; nullopt when malformed (length not a multiple of 4, a byte outside the alphabet,
// misplaced padding). No whitespace is skipped: callers that allow line breaks remove them.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ke
