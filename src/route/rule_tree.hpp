// The compiled route tree: resmoio's Route/Rule semantics to the letter, with RE2 patterns
// compiled once at load. Pure and immutable: no I/O, no locks, safe to share.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/diagnostic.hpp"
#include "core/record.hpp"

namespace ke::route {

class rule_tree {
 public:
  // receivers: the receiver names in config order; a rule's receiver is resolved to its index.
  // A route naming an undefined receiver or an invalid pattern is an error diagnostic naming
  // the rule's path (e.g. "route.routes[0].match[1].receiver"); compile returns nullptr then.
  static std::unique_ptr<const rule_tree> compile(const config::route& root,
                                                  const std::vector<std::string>& receivers,
                                                  diagnostics& problems);

  // Appends to `out` the index of every receiver the record reaches, in the order resmoio would
  // send it (duplicates kept: two rules naming one receiver send twice). Allocates nothing
  // beyond growing `out` (callers reuse it).
  void route(const record& r, std::vector<std::uint32_t>& out) const;

  ~rule_tree();
  rule_tree(const rule_tree&) = delete;
  rule_tree& operator=(const rule_tree&) = delete;

 private:
  rule_tree();
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ke::route
