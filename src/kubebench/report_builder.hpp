// Private to src/kubebench/report*.cpp: the pieces of a check record and the builder that turns
// them into records once the whole report (and so its target) is known.
#pragma once
#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/go_json.hpp"
#include "kubebench/report.hpp"

namespace ke::kubebench::detail {

using ojson = nlohmann::ordered_json;

// The parts of a check's record that come from its Controls and group.
struct controls_ctx {
  std::string id, version, text, node_type, detected_version;
};
struct group_ctx {
  std::string section, desc, type;
  std::int64_t pass = 0, fail = 0, warn = 0, info = 0;
};
struct check_ctx {
  std::string number, desc, audit, audit_env, audit_conf, type, remediation, test_info, status,
      actual_value, expected_result, reason;
  bool scored = false;
  bool is_multiple = false;
};

inline void count_status(totals& t, std::string_view status) {
  if (status == "PASS") {
    ++t.pass;
  } else if (status == "FAIL") {
    ++t.fail;
  } else if (status == "WARN") {
    ++t.warn;
  } else if (status == "INFO") {
    ++t.info;
  }
}

class builder {
 public:
  builder(const report_meta& meta, const parse_options& opt) : meta_(meta), opt_(opt) {}

  // Adds a check, unless the report would then be over opt.max_checks or opt.max_record_bytes:
  // then returns why, and the caller refuses the report (no record has been built yet: records
  // are built in finish() only, once every check is counted).
  [[nodiscard]] std::optional<std::string> add(const controls_ctx& c, const group_ctx& g,
                                               check_ctx k) {
    if (pending_.size() >= opt_.max_checks) {
      return "more than " + std::to_string(opt_.max_checks) + " checks (maxChecks)";
    }
    if (auto over = charge(text_bytes(c) + text_bytes(g) + text_bytes(k))) {
      return over;
    }
    pending_.push_back({c, g, std::move(k)});
    count_status(counted_, pending_.back().k.status);
    if (!c.node_type.empty() &&
        std::find(node_types_.begin(), node_types_.end(), c.node_type) == node_types_.end()) {
      node_types_.push_back(c.node_type);
    }
    return std::nullopt;
  }
  void note_node_type(const std::string& t) {
    if (!t.empty() && std::find(node_types_.begin(), node_types_.end(), t) == node_types_.end()) {
      node_types_.push_back(t);
    }
  }
  // Counts `bytes` more text into the records (e.g. a remediation line appended to a check);
  // returns why when that is over opt.max_record_bytes.
  [[nodiscard]] std::optional<std::string> charge(std::size_t bytes) {
    if (bytes > opt_.max_record_bytes - std::min(text_bytes_, opt_.max_record_bytes)) {
      return "the records would carry more than " + std::to_string(opt_.max_record_bytes) +
             " bytes of text (each check repeats its Controls' and group's strings)";
    }
    text_bytes_ += bytes;
    return std::nullopt;
  }
  // charge(n * bytes) without overflow.
  [[nodiscard]] std::optional<std::string> charge_each(std::size_t n, std::size_t bytes) {
    if (bytes != 0 && n > opt_.max_record_bytes / bytes) {
      return charge(opt_.max_record_bytes + 1 - std::min(text_bytes_, opt_.max_record_bytes));
    }
    return charge(n * bytes);
  }
  std::size_t size() const { return pending_.size(); }
  const totals& counted() const { return counted_; }
  // Text format: the target name is known only at the target's summary, after its checks.
  [[nodiscard]] std::optional<std::string> set_node_type_from(std::size_t first,
                                                              const std::string& node_type) {
    if (auto over =
            charge_each(pending_.size() - std::min(first, pending_.size()), node_type.size())) {
      return over;
    }
    for (std::size_t i = first; i < pending_.size(); ++i) {
      pending_[i].c.node_type = node_type;
    }
    note_node_type(node_type);
    return std::nullopt;
  }
  // Text format: the check numbered `number` among the checks from `first` on, if any.
  check_ctx* find_check(std::size_t first, std::string_view number) {
    for (std::size_t i = first; i < pending_.size(); ++i) {
      if (pending_[i].k.number == number) {
        return &pending_[i].k;
      }
    }
    return nullptr;
  }

  // Builds the records, unless the strings every record repeats (node name, target: every
  // node type of the report, syntax) take the report over opt.max_record_bytes.
  parse_result finish(std::optional<totals> reported, totals_source source) {
    report r;
    r.node_name = meta_.node_name;
    r.target = meta_.target;
    if (r.target.empty()) {
      for (const auto& t : node_types_) {
        r.target += (r.target.empty() ? "" : ",") + t;
      }
    }
    r.syntax = meta_.syntax;
    if (r.syntax.empty()) {
      r.syntax = r.target.empty() ? "kube-bench run" : "kube-bench run --targets=" + r.target;
    }
    if (reported) {
      r.totals = *reported;
      r.source = source;
    } else {
      r.totals = counted_;
      r.source = totals_source::checks;
    }
    if (auto over = charge_each(pending_.size(),
                                r.node_name.size() + 2 * r.target.size() + r.syntax.size())) {
      parse_result out;
      out.error = {0, "node name, target and syntax: " + *over, true};
      return out;
    }
    r.records.reserve(pending_.size());
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      r.records.push_back(make(r, pending_[i], i));
      if (opt_.records_built != nullptr) {
        ++*opt_.records_built;
      }
    }
    parse_result out;
    out.value = std::move(r);
    return out;
  }

 private:
  struct item {
    controls_ctx c;
    group_ctx g;
    check_ctx k;
  };

  // The text of the strings a record copies (numbers and flags are not counted).
  static std::size_t text_bytes(const controls_ctx& c) {
    return c.id.size() + c.version.size() + c.text.size() + c.node_type.size() +
           c.detected_version.size();
  }
  static std::size_t text_bytes(const group_ctx& g) {
    return g.section.size() + g.desc.size() + g.type.size();
  }
  static std::size_t text_bytes(const check_ctx& k) {
    return k.number.size() + k.desc.size() + k.audit.size() + k.audit_env.size() +
           k.audit_conf.size() + k.type.size() + k.remediation.size() + k.test_info.size() +
           k.status.size() + k.actual_value.size() + k.expected_result.size() + k.reason.size();
  }

  record_ptr make(const report& r, const item& it, std::size_t index) const {
    auto rec = std::make_shared<record>();
    rec->source = record_source::kube_bench;
    const auto& [c, g, k] = it;
    ojson& d = rec->doc;
    d["kube_bench_node_name"] = r.node_name;
    d["kube_bench_target"] = r.target;
    d["kube_bench_syntax"] = r.syntax;
    d["kube_bench_gb_cis_id"] = c.id;
    d["kube_bench_gb_cis_version"] = c.version;
    d["kube_bench_gb_cis_description"] = c.text;
    d["kube_bench_gb_tg_type"] = c.node_type;
    d["kube_bench_gb_tg_version"] = c.detected_version;
    d["kube_bench_gb_tg_test_major_section"] = g.section;
    d["kube_bench_gb_tg_test_major_description"] = g.desc;
    d["kube_bench_gb_tg_test_major_type"] = g.type;
    d["kube_bench_gb_tg_test_major_pass"] = g.pass;
    d["kube_bench_gb_tg_test_major_fail"] = g.fail;
    d["kube_bench_gb_tg_test_major_warn"] = g.warn;
    d["kube_bench_gb_tg_test_major_info"] = g.info;
    d["kube_bench_gb_tg_test_minor_section"] = k.number;
    d["kube_bench_gb_tg_test_minor_description"] = k.desc;
    d["kube_bench_gb_tg_test_minor_audit"] = k.audit;
    d["kube_bench_gb_tg_test_minor_audit_env"] = k.audit_env;
    d["kube_bench_gb_tg_test_minor_audit_conf"] = k.audit_conf;
    d["kube_bench_gb_tg_test_minor_type"] = k.type;
    d["kube_bench_gb_tg_test_minor_remediation"] = k.remediation;
    d["kube_bench_gb_tg_test_minor_test_info"] = k.test_info;
    d["kube_bench_gb_tg_test_minor_status"] = k.status;
    d["kube_bench_gb_tg_test_minor_actual_value"] = k.actual_value;
    d["kube_bench_gb_tg_test_minor_scored"] = k.scored;
    d["kube_bench_gb_tg_test_minor_is_multiple"] = k.is_multiple;
    d["kube_bench_gb_tg_test_minor_expected_result"] = k.expected_result;
    if (!k.reason.empty()) {
      d["kube_bench_gb_tg_test_minor_reason"] = k.reason;
    }
    rec->line = go_json(d);

    rec->kind = "KubeBench";
    rec->api_version = "kube-bench/v1";
    rec->reason = k.status;
    rec->type = (k.status == "FAIL" || k.status == "WARN") ? "Warning" : "Normal";
    rec->message = k.desc;
    rec->name = k.number;
    rec->host = r.node_name;
    rec->component = "kube-bench";
    rec->count = 1;
    rec->time_ns = opt_.time_ns + static_cast<std::int64_t>(index);
    rec->stream_labels = opt_.stream_labels;
    rec->stream_labels.emplace_back("kube_bench_node_name", r.node_name);
    rec->stream_labels.emplace_back("kube_bench_target", r.target);
    rec->stream_labels.emplace_back("status", k.status);
    if (!opt_.source_position_prefix.empty()) {
      rec->source_position = opt_.source_position_prefix + "#" + std::to_string(index);
    }
    return rec;
  }

  const report_meta& meta_;
  const parse_options& opt_;
  std::vector<item> pending_;
  std::vector<std::string> node_types_;
  totals counted_;
  std::size_t text_bytes_ = 0;  // charged so far, <= opt_.max_record_bytes
};

inline parse_result fail(std::size_t offset, std::string reason) {
  parse_result r;
  r.error = {offset, std::move(reason), false};
  return r;
}

// A well-formed report over a limit (parse_error::too_large).
inline parse_result too_large(std::size_t offset, std::string reason) {
  parse_result r;
  r.error = {offset, std::move(reason), true};
  return r;
}

}  // namespace ke::kubebench::detail
