// Go's strconv.Quote, shared by the template engine (printf %q, sprig quote) and the Loki label
// string (Loki's client formats label values with strconv.Quote).
#pragma once
#include <string>
#include <string_view>

namespace ke {

// Appends v to out as Go's strconv.Quote renders it: quotes, \" \\ \a \b \f \n \r \t \v, \xNN for
// other control bytes and invalid UTF-8, \uNNNN / \UNNNNNNNN for non-printable code points
// (Go's unicode.IsPrint approximated by the control, separator, format and private-use
// ranges); printable UTF-8 is kept as is.
void go_quote(std::string_view v, std::string& out);

}  // namespace ke
