// A driver for the libFuzzer targets when libFuzzer is not there (GCC builds, CI): feeds every
// file named on the command line (directories: their regular files) to LLVMFuzzerTestOneInput,
// then, from a fixed seed, mutated copies of each (bit flips, byte changes, truncations, cut
// and repeated spans). Under the ASan+UBSan build this is a deterministic fuzz smoke test; a
// target signals a broken invariant by aborting. Usage: <target>_replay [-n MUTATIONS] PATH...
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void run(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::string mutate(std::string s, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : std::size_t(rng() % n); };
  const int edits = 1 + int(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 5) {
      case 0:
        if (!s.empty()) s[pick(s.size())] ^= char(1u << (rng() % 8));
        break;
      case 1:
        if (!s.empty()) s[pick(s.size())] = "{}[]\",:0\\-e \n\x80\xff"[rng() % 16];
        break;
      case 2:
        s.resize(pick(s.size() + 1));
        break;
      case 3: {
        const std::size_t at = pick(s.size() + 1), n = pick(s.size() - at + 1);
        s.erase(at, n);
        break;
      }
      default: {
        const std::size_t at = pick(s.size() + 1),
                          n = pick(std::min<std::size_t>(64, s.size() - at) + 1);
        s.insert(pick(s.size() + 1), s.substr(at, n));
        break;
      }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int mutations = 300;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-n" && i + 1 < argc) {
      mutations = std::atoi(argv[++i]);
      continue;
    }
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::directory_iterator(a)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.emplace_back(a);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        std::cerr << f << ": cannot read\n";
        return 2;
      }
      inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (inputs.empty()) {
    std::cerr << "usage: " << argv[0] << " [-n MUTATIONS] PATH...\n";
    return 2;
  }
  std::mt19937_64 rng(20261128);
  std::size_t runs = 0;
  for (const auto& in : inputs) {
    run(in);
    ++runs;
    for (int m = 0; m < mutations; ++m, ++runs) run(mutate(in, rng));
  }
  std::cout << runs << " inputs from " << inputs.size() << " seeds: no invariant broken\n";
  return 0;
}
