// JSON text exactly as Go's encoding/json.Marshal writes it: compact, '<' '>' '&' U+2028 U+2029
// escaped as \u003c \u003e \u0026 \u2028 \u2029, invalid UTF-8 replaced by U+FFFD.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace ke {

std::string go_json(const nlohmann::ordered_json& doc);
std::string go_json(const nlohmann::json& doc);  // map keys sorted, as Go marshals maps

// Go's time formats for metav1.Time (RFC3339, seconds) and MicroTime (6 fractional digits),
// both in UTC; and their parse (accepts any RFC3339 with fraction/offset). -1 on failure.
std::string format_rfc3339(std::int64_t ns);
std::string format_rfc3339_micro(std::int64_t ns);
std::int64_t parse_rfc3339_ns(std::string_view s);

}  // namespace ke
