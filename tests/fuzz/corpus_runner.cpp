// SPDX-License-Identifier: Apache-2.0
// corpus_runner: runs a libFuzzer target's LLVMFuzzerTestOneInput over every
// file of its committed corpus, so the normal (g++) build replays the
// inputs fuzzing found interesting as a plain regression test. Real fuzzing
// is `make fuzz` (clang, libFuzzer). Usage: <runner> <corpus dir>...
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path dir{argv[i]};
    if (!std::filesystem::is_directory(dir)) {
      std::fprintf(stderr, "corpus_runner: %s is not a directory\n", argv[i]);
      return 1;
    }
    for (auto& entry : std::filesystem::directory_iterator{dir}) {
      if (!entry.is_regular_file())
        continue;
      std::ifstream in{entry.path(), std::ios::binary};
      std::vector<uint8_t> bytes{std::istreambuf_iterator<char>{in},
                                 std::istreambuf_iterator<char>{}};
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++runs;
    }
  }
  // Every target also gets the empty input.
  LLVMFuzzerTestOneInput(nullptr, 0);
  std::printf("corpus_runner: %zu inputs replayed\n", runs + 1);
  return runs > 0 ? 0 : 1; // an empty corpus would make this test a no-op
}
