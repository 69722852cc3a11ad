// run_kernel: load an opforge-exported library through TVM's runtime C++ API and run one kernel.
//
//   run_kernel LIB.so MANIFEST.json KERNEL IN0.bin [IN1.bin ...] OUT0.bin [OUT1.bin ...]
//
// The manifest (opforge export's <name>.json) gives each argument's shape and dtype; every .bin
// file holds one tensor's raw bytes, row-major. Inputs are read, the kernel runs on 64-byte
// aligned buffers (TVM kernels assume that alignment), and the outputs are written back.
// Linked with libtvm_ffi (module loading, calling convention) and libtvm_runtime (the thread
// pool that parallel kernels launch on); no compiler is involved.
#include <tvm/ffi/container/array.h>
#include <tvm/ffi/container/map.h>
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/dtype.h>
#include <tvm/ffi/extra/json.h>
#include <tvm/ffi/extra/module.h>
#include <tvm/ffi/function.h>
#include <tvm/ffi/string.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace ffi = tvm::ffi;

namespace {

struct Arg {
  std::string name;
  std::vector<int64_t> shape;
  DLDataType dtype;
  bool is_output;
  size_t nbytes;
};

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DLDataType ParseDType(const std::string& name) {
  DLDataType t = ffi::StringToDLDataType(name);
  return t;
}

std::vector<Arg> KernelArgs(const std::string& manifest_path, const std::string& kernel, std::string* function) {
  ffi::String error;
  ffi::json::Value root = ffi::json::Parse(ReadText(manifest_path), &error);
  if (!error.empty()) throw std::runtime_error("manifest " + manifest_path + ": " + std::string(error));
  auto manifest = root.cast<ffi::json::Object>();
  auto kernels = manifest["kernels"].cast<ffi::json::Array>();
  std::vector<std::string> names;
  for (const ffi::Any& k_any : kernels) {
    auto k = k_any.cast<ffi::json::Object>();
    std::string name = k["name"].cast<ffi::String>();
    names.push_back(name);
    if (name != kernel) continue;
    *function = std::string(k["function"].cast<ffi::String>());
    std::vector<Arg> args;
    for (const ffi::Any& a_any : k["args"].cast<ffi::json::Array>()) {
      auto a = a_any.cast<ffi::json::Object>();
      Arg arg;
      arg.name = a["name"].cast<ffi::String>();
      arg.dtype = ParseDType(a["dtype"].cast<ffi::String>());
      arg.is_output = std::string(a["role"].cast<ffi::String>()) == "output";
      size_t count = 1;
      for (const ffi::Any& d : a["shape"].cast<ffi::json::Array>()) {
        arg.shape.push_back(d.cast<int64_t>());
        count *= static_cast<size_t>(arg.shape.back());
      }
      arg.nbytes = count * ((arg.dtype.bits * arg.dtype.lanes + 7) / 8);
      args.push_back(arg);
    }
    return args;
  }
  std::string known;
  for (const auto& n : names) known += " " + n;
  throw std::runtime_error("manifest has no kernel " + kernel + "; it holds:" + known);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " LIB.so MANIFEST.json KERNEL IN.bin... OUT.bin...\n";
    return 2;
  }
  try {
    std::string function;
    std::vector<Arg> args = KernelArgs(argv[2], argv[3], &function);
    if (static_cast<size_t>(argc - 4) != args.size()) {
      std::cerr << argv[3] << " takes " << args.size() << " tensors (inputs, then outputs); got " << (argc - 4) << " files\n";
      return 2;
    }
    ffi::Module mod = ffi::Module::LoadFromFile(argv[1]);
    ffi::Optional<ffi::Function> func = mod->GetFunction(function);
    if (!func.has_value()) throw std::runtime_error("library has no function " + function);

    std::vector<std::unique_ptr<void, AlignedFree>> buffers;
    std::vector<DLTensor> tensors(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      void* data = std::aligned_alloc(64, (args[i].nbytes + 63) / 64 * 64);
      if (data == nullptr) throw std::bad_alloc();
      buffers.emplace_back(data);
      if (!args[i].is_output) {
        std::string bytes = ReadText(argv[4 + i]);
        if (bytes.size() != args[i].nbytes) {
          throw std::runtime_error(std::string(argv[4 + i]) + " holds " + std::to_string(bytes.size()) + " bytes; " +
                                   args[i].name + " needs " + std::to_string(args[i].nbytes));
        }
        std::copy(bytes.begin(), bytes.end(), static_cast<char*>(data));
      }
      DLTensor& t = tensors[i];
      t.data = data;
      t.device = DLDevice{kDLCPU, 0};
      t.ndim = static_cast<int32_t>(args[i].shape.size());
      t.dtype = args[i].dtype;
      t.shape = args[i].shape.data();
      t.strides = nullptr;
      t.byte_offset = 0;
    }
    std::vector<ffi::AnyView> packed(args.size());
    for (size_t i = 0; i < args.size(); ++i) packed[i] = &tensors[i];
    ffi::Any result;
    func.value().CallPacked(packed.data(), static_cast<int32_t>(packed.size()), &result);

    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].is_output) continue;
      std::ofstream out(argv[4 + i], std::ios::binary);
      out.write(static_cast<const char*>(buffers[i].get()), static_cast<std::streamsize>(args[i].nbytes));
      if (!out) throw std::runtime_error(std::string("cannot write ") + argv[4 + i]);
    }
    std::cout << "ran " << argv[3] << " (" << function << ") from " << argv[1] << "\n";
  } catch (const std::exception& e) {
    std::cerr << "run_kernel: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
