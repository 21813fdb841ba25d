#include "sinks/loki/encoder.hpp"

#include <google/protobuf/io/gzip_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <snappy.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "sinks/loki/push.pb.h"

namespace ke::sinks::loki {

namespace {

void split_time(std::int64_t ns, std::int64_t& seconds, std::int32_t& nanos) {
  seconds = ns / 1'000'000'000;
  std::int64_t rem = ns % 1'000'000'000;
  if (rem < 0) {  // Timestamp.nanos must be in [0, 1e9)
    rem += 1'000'000'000;
    --seconds;
  }
  nanos = static_cast<std::int32_t>(rem);
}

// Appends e to s, one of b's streams, counting it in b's entries and bytes.
void append_entry(batch& b, stream& s, entry&& e) {
  b.bytes += e.line.size();
  for (const auto& [name, value] : e.metadata) {
    b.bytes += name.size() + value.size();
  }
  ++b.entries;
  s.entries.push_back(std::move(e));
}

}  // namespace

void batch::sort_entries() {
  for (auto& s : streams) {
    if (!std::is_sorted(s.entries.begin(), s.entries.end(),
                        [](const entry& a, const entry& b) { return a.time_ns < b.time_ns; })) {
      std::stable_sort(s.entries.begin(), s.entries.end(),
                       [](const entry& a, const entry& b) { return a.time_ns < b.time_ns; });
    }
  }
}

payload encode_protobuf(batch& b) {
  b.sort_entries();
  logproto::PushRequest req;
  req.mutable_streams()->Reserve(static_cast<int>(b.streams.size()));
  for (auto& s : b.streams) {
    auto* out = req.add_streams();
    out->set_labels(s.key);
    out->mutable_entries()->Reserve(static_cast<int>(s.entries.size()));
    for (auto& e : s.entries) {
      auto* pe = out->add_entries();
      std::int64_t seconds = 0;
      std::int32_t nanos = 0;
      split_time(e.time_ns, seconds, nanos);
      pe->mutable_timestamp()->set_seconds(seconds);
      pe->mutable_timestamp()->set_nanos(nanos);
      pe->set_line(std::move(e.line));
      for (auto& [name, value] : e.metadata) {
        auto* m = pe->add_structuredmetadata();
        m->set_name(name);
        m->set_value(std::move(value));
      }
    }
  }
  std::string raw;
  req.SerializeToString(&raw);
  payload p;
  snappy::Compress(raw.data(), raw.size(), &p.body);
  p.content_type = "application/x-protobuf";
  return p;
}

payload encode_json(batch& b, bool gzip) {
  b.sort_entries();
  nlohmann::json streams = nlohmann::json::array();
  for (auto& s : b.streams) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [name, value] : s.labels) {
      labels[name] = value;
    }
    nlohmann::json values = nlohmann::json::array();
    values.get_ref<nlohmann::json::array_t&>().reserve(s.entries.size());
    for (auto& e : s.entries) {
      nlohmann::json v = nlohmann::json::array({std::to_string(e.time_ns), std::move(e.line)});
      if (!e.metadata.empty()) {
        nlohmann::json meta = nlohmann::json::object();
        for (auto& [name, value] : e.metadata) {
          meta[name] = std::move(value);
        }
        v.push_back(std::move(meta));
      }
      values.push_back(std::move(v));
    }
    streams.push_back({{"stream", std::move(labels)}, {"values", std::move(values)}});
  }
  nlohmann::json body = {{"streams", std::move(streams)}};
  payload p;
  p.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  p.content_type = "application/json";
  if (gzip) {
    p.body = gzip_compress(p.body);
    p.content_encoding = "gzip";
  }
  return p;
}

std::optional<batch> decode_payload(const payload& p) {
  std::string plain;
  const std::string* body = &p.body;
  if (p.content_encoding == "gzip") {
    if (!gzip_decompress(p.body, plain)) {
      return std::nullopt;
    }
    body = &plain;
  }
  batch b;
  if (p.content_type.rfind("application/json", 0) == 0) {
    const auto j = nlohmann::json::parse(*body, nullptr, false);
    if (!j.is_object() || !j.contains("streams") || !j["streams"].is_array()) {
      return std::nullopt;
    }
    for (const auto& js : j["streams"]) {
      if (!js.is_object() || !js.contains("values") || !js["values"].is_array()) {
        return std::nullopt;
      }
      stream s;
      if (js.contains("stream") && js["stream"].is_object()) {
        for (const auto& [name, value] : js["stream"].items()) {
          if (!value.is_string()) {
            return std::nullopt;
          }
          s.labels.emplace_back(name, value.get<std::string>());
        }
      }
      for (const auto& v : js["values"]) {
        if (!v.is_array() || v.size() < 2 || !v[0].is_string() || !v[1].is_string()) {
          return std::nullopt;
        }
        entry e;
        const auto ts = v[0].get<std::string>();
        const auto [ptr, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), e.time_ns);
        if (ec != std::errc() || ptr != ts.data() + ts.size()) {
          return std::nullopt;
        }
        e.line = v[1].get<std::string>();
        if (v.size() > 2 && v[2].is_object()) {
          for (const auto& [name, value] : v[2].items()) {
            if (value.is_string()) {
              e.metadata.emplace_back(name, value.get<std::string>());
            }
          }
        }
        append_entry(b, s, std::move(e));
      }
      b.streams.push_back(std::move(s));
    }
    return b;
  }
  std::string raw;
  if (!snappy::Uncompress(body->data(), body->size(), &raw)) {
    return std::nullopt;
  }
  logproto::PushRequest req;
  if (!req.ParseFromString(raw)) {
    return std::nullopt;
  }
  for (auto& ps : *req.mutable_streams()) {
    stream s;
    s.key = ps.labels();
    for (auto& pe : *ps.mutable_entries()) {
      entry e;
      e.time_ns = pe.timestamp().seconds() * 1'000'000'000 + pe.timestamp().nanos();
      e.line = std::move(*pe.mutable_line());
      for (auto& m : *pe.mutable_structuredmetadata()) {
        e.metadata.emplace_back(m.name(), m.value());
      }
      append_entry(b, s, std::move(e));
    }
    b.streams.push_back(std::move(s));
  }
  return b;
}

std::optional<payload_halves> split_payload(const payload& p) {
  auto whole = decode_payload(p);
  if (!whole || whole->entries < 2) {
    return std::nullopt;
  }
  const std::size_t want = (whole->entries + 1) / 2;
  batch halves[2];
  for (auto& s : whole->streams) {
    for (auto& e : s.entries) {
      batch& h = halves[halves[0].entries < want ? 0 : 1];
      if (h.streams.empty() || h.streams.back().key != s.key ||
          h.streams.back().labels != s.labels) {
        h.streams.push_back(stream{s.labels, s.key, {}});
      }
      append_entry(h, h.streams.back(), std::move(e));
    }
  }
  const bool json = p.content_type.rfind("application/json", 0) == 0;
  const bool gzip = p.content_encoding == "gzip";
  payload_halves out;
  out.first_entries = halves[0].entries;
  out.second_entries = halves[1].entries;
  out.first_bytes = halves[0].bytes;
  out.second_bytes = halves[1].bytes;
  out.first = json ? encode_json(halves[0], gzip) : encode_protobuf(halves[0]);
  out.second = json ? encode_json(halves[1], gzip) : encode_protobuf(halves[1]);
  return out;
}

std::string gzip_compress(const std::string& data) {
  namespace io = google::protobuf::io;
  std::string out;
  {
    io::StringOutputStream sink(&out);
    io::GzipOutputStream::Options opts;
    opts.format = io::GzipOutputStream::GZIP;
    opts.compression_level = 6;
    io::GzipOutputStream gz(&sink, opts);
    std::size_t done = 0;
    while (done < data.size()) {
      void* buf = nullptr;
      int size = 0;
      if (!gz.Next(&buf, &size)) {
        break;
      }
      const std::size_t n =
          std::min<std::size_t>(static_cast<std::size_t>(size), data.size() - done);
      std::memcpy(buf, data.data() + done, n);
      done += n;
      if (n < static_cast<std::size_t>(size)) {
        gz.BackUp(size - static_cast<int>(n));
      }
    }
    gz.Close();
  }
  return out;
}

bool gzip_decompress(const std::string& data, std::string& out) {
  namespace io = google::protobuf::io;
  out.clear();
  io::ArrayInputStream src(data.data(), static_cast<int>(data.size()));
  io::GzipInputStream gz(&src, io::GzipInputStream::GZIP);
  const void* buf = nullptr;
  int size = 0;
  while (gz.Next(&buf, &size)) {
    out.append(static_cast<const char*>(buf), static_cast<std::size_t>(size));
  }
  return gz.ZlibErrorMessage() == nullptr;
}

}  // namespace ke::sinks::loki
