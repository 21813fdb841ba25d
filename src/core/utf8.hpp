// UTF-8 text helpers: Go's strconv.Quote, shared by the template engine (printf %q, sprig quote)
// and the Loki label string (Loki's client formats label values with strconv.Quote), and a
// byte-limit cut that never splits a sequence.
#pragma once
#include <string>
#include <string_view>

namespace ke {

// Appends v to out as Go's strconv.Quote renders it: quotes, \" \\ \a \b \f \n \r \t \v, \xNN for
// other control bytes and invalid UTF-8, \uNNNN / \UNNNNNNNN for non-printable code points
// (Go's unicode.IsPrint approximated by the control, separator, format and private-use
// ranges); printable UTF-8 is kept as is.
void go_quote(std::string_view v, std::string& out);

// Cuts s to at most n bytes without splitting a UTF-8 sequence.
void cut_utf8(std::string& s, std::size_t n);

}  // namespace ke
