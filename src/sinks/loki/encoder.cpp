#include "sinks/loki/encoder.hpp"

#include <google/protobuf/io/gzip_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <snappy.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

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
