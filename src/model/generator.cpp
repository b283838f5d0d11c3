// A libtorch CPU random generator owned by the caller, for `src/model/generator.rs`.
// tch binds only the global generator (`tch::manual_seed`); libtorch itself has
// generator objects, and these functions expose the two draws model initialisation
// needs. Errors come back as a message the caller frees.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <cstring>
#include <exception>

namespace {
// Runs `draw`, turning a C++ exception into a message for the caller (null: no error).
template <class Draw>
char *guarded(Draw draw) {
  try {
    draw();
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

// `tensor` is tch's tensor handle (an `at::Tensor *`).
at::Tensor &tensor_of(void *tensor) { return *static_cast<at::Tensor *>(tensor); }
at::Generator &generator_of(void *generator) { return *static_cast<at::Generator *>(generator); }
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

char *tchlab_uniform_(void *generator, void *tensor, double low, double high) {
  return guarded([&] { tensor_of(tensor).uniform_(low, high, generator_of(generator)); });
}

char *tchlab_normal_(void *generator, void *tensor, double mean, double std) {
  return guarded([&] { tensor_of(tensor).normal_(mean, std, generator_of(generator)); });
}

void tchlab_free_message(char *text) { free(text); }
}
