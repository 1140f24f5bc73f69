# The two commands of the README:
#   make demo   installs what is missing, builds, runs the demo
#   make test   installs what is missing, builds, runs every test (ctest)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

FUZZ_SECONDS ?= 60

.PHONY: deps configure build demo test bench asan fuzz clean

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/nodes/tailfleet demo

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	./$(BUILD)/bench/giant_tailnet
	./$(BUILD)/bench/throughput

asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTF_SANITIZE=ON"

# fuzz: libFuzzer with clang on every decoder, FUZZ_SECONDS each; new
# interesting inputs land in tests/fuzz/corpus/<target> (commit them).
fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DTF_FUZZ=ON \
	  -DTF_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-fuzz -j $(JOBS) --target control_channel_fuzz wire_decode_fuzz frame_decoder_fuzz
	for t in control_channel_fuzz wire_decode_fuzz frame_decoder_fuzz; do \
	  mkdir -p tests/fuzz/corpus/$$t; \
	  ./build-fuzz/tests/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) tests/fuzz/corpus/$$t || exit 1; \
	done

clean:
	rm -rf build build-asan build-fuzz
