# The two commands a new user needs: `make run` and `make test`.
BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
SAN_BUILD  ?= build-sanitize
JOBS       ?= $(shell nproc)
CMAKE_FLAGS = -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(if $(CI),-DPILLAR_WERROR=ON)

.PHONY: all deps build run test test-sanitize fuzz bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Only what it runs: the server, not the test suite.
run: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target pillar
	$(BUILD)/pillar

# ctest, then the fuzzers, then one verdict line (scripts/test-verdict) whose
# status is make's. CTEST_ARGS narrows the run (e.g. CTEST_ARGS="-R Welcome");
# FUZZ_STEP replaces the fuzz step (e.g. FUZZ_STEP=true when checking this recipe).
CTEST_ARGS ?=
FUZZ_STEP  ?= $(MAKE) --no-print-directory fuzz
test: build
	@{ cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300 $(CTEST_ARGS); echo $$? >ctest.status; } 2>&1 \
	  | tee $(BUILD)/ctest.log
	@{ $(FUZZ_STEP); echo $$? >$(BUILD)/fuzz.status; } 2>&1 | tee $(BUILD)/fuzz.log
	@scripts/test-verdict $(BUILD)/ctest.log "$$(cat $(BUILD)/ctest.status)" $(BUILD)/fuzz.log "$$(cat $(BUILD)/fuzz.status)"

# The unit and integration tests again, everything built with ASan + UBSan
# (.ci/run runs it after `make test`). Sanitizer reports abort the process,
# so they fail the test that caused them. Warnings are judged by `make test`'s
# build (-Werror in CI), not by this one: the sanitizers make GCC warn about
# code it cannot see through.
test-sanitize: deps
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPILLAR_SANITIZE=ON >/dev/null
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_odr_violation=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) --timeout 600

# Short bounded libFuzzer runs over the seed corpora (skipped without clang).
fuzz: deps
	@if command -v clang++ >/dev/null; then \
	  CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DPILLAR_FUZZ=ON -DPILLAR_TESTS=OFF >/dev/null && \
	  cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers && \
	  scripts/run-fuzzers $(FUZZ_BUILD); \
	else echo "fuzz: clang++ not found, fuzzers skipped"; fi

bench: build
	@scripts/install-deps bench
	bench/static/run.sh $(BUILD)/pillar

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(SAN_BUILD)
