// A libtorch CPU random generator owned by the caller, for `src/model/generator.rs`.
// tch binds only the global generator (`tch::manual_seed`); libtorch itself has
// generator objects, and these four functions expose the two draws model
// initialisation needs. Errors come back as a message the caller frees.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <cstring>
#include <exception>

namespace {
char *message(const std::exception &e) { return strdup(e.what()); }
}  // namespace

extern "C" {

void *tchlab_generator_new(uint64_t seed) {
  try {
    return new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed));
  } catch (const std::exception &) {
    return nullptr;
  }
}

void tchlab_generator_free(void *generator) { delete static_cast<at::Generator *>(generator); }

// `tensor` is tch's tensor handle (an `at::Tensor *`).
char *tchlab_uniform_(void *generator, void *tensor, double low, double high) {
  try {
    static_cast<at::Tensor *>(tensor)->uniform_(low, high, *static_cast<at::Generator *>(generator));
    return nullptr;
  } catch (const std::exception &e) {
    return message(e);
  }
}

char *tchlab_normal_(void *generator, void *tensor, double mean, double std) {
  try {
    static_cast<at::Tensor *>(tensor)->normal_(mean, std, *static_cast<at::Generator *>(generator));
    return nullptr;
  } catch (const std::exception &e) {
    return message(e);
  }
}

void tchlab_free_message(char *text) { free(text); }
}
