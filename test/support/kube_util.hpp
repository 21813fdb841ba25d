// Helpers shared by the kube and watch tests: test PKI files, and the io helpers of
// support/io.hpp under the names these tests use.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include "core/asio.hpp"
#include "support/io.hpp"

namespace ke::test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string pki(const std::string& name) {
  return read_text(std::string(KE_TEST_DATA) + "/watch/pki/" + name);
}

using ke::test::drain;
using ke::test::run_until;
using ke::test::scaled;
using ke::test::try_run_coro;

}  // namespace ke::test
