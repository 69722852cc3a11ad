/* c_matmul: call an opforge-exported matmul through its plain C entry point, without TVM.
 *
 *   opforge export matmul --shape M=64,N=64,K=64 -o out/
 *   cc -I out c_matmul.c out/matmul.so -Wl,-rpath,out -o c_matmul
 *   ./c_matmul A.bin B.bin C.bin
 *
 * A.bin and B.bin hold the inputs' raw float32 bytes (row-major); C.bin receives the output.
 * The sizes come from the generated header, so any export named "matmul" fits. Only libc is
 * needed at run time: the library carries its own one-thread fallback for TVM's parallel loops.
 */
#include <stdio.h>
#include <stdlib.h>

#include "matmul.h"

static int read_all(const char* path, float* data, long count) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  long n = (long)fread(data, sizeof(float), (size_t)count, f);
  fclose(f);
  return n == count;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s A.bin B.bin C.bin\n", argv[0]);
    return 2;
  }
  float* a = malloc(sizeof(float) * OPFORGE_MATMUL_A_SIZE);
  float* b = malloc(sizeof(float) * OPFORGE_MATMUL_B_SIZE);
  float* c = malloc(sizeof(float) * OPFORGE_MATMUL_C_SIZE);
  if (!a || !b || !c) return 1;
  if (!read_all(argv[1], a, OPFORGE_MATMUL_A_SIZE) || !read_all(argv[2], b, OPFORGE_MATMUL_B_SIZE)) {
    fprintf(stderr, "cannot read %ld + %ld floats from %s and %s\n", (long)OPFORGE_MATMUL_A_SIZE, (long)OPFORGE_MATMUL_B_SIZE, argv[1], argv[2]);
    return 1;
  }
  /* a wrong size is refused with a status and a message, before the kernel runs */
  int status = opforge_matmul(a, OPFORGE_MATMUL_A_SIZE - 1, b, OPFORGE_MATMUL_B_SIZE, c, OPFORGE_MATMUL_C_SIZE);
  printf("wrong size: status %d (%s)\n", status, opforge_matmul_last_error());
  if (status != OPFORGE_ERR_SIZE) return 1;

  status = opforge_matmul(a, OPFORGE_MATMUL_A_SIZE, b, OPFORGE_MATMUL_B_SIZE, c, OPFORGE_MATMUL_C_SIZE);
  if (status != OPFORGE_OK) {
    fprintf(stderr, "opforge_matmul failed: status %d: %s\n", status, opforge_matmul_last_error());
    return 1;
  }
  FILE* f = fopen(argv[3], "wb");
  if (!f || fwrite(c, sizeof(float), OPFORGE_MATMUL_C_SIZE, f) != (size_t)OPFORGE_MATMUL_C_SIZE) return 1;
  fclose(f);
  printf("ok: wrote %ld floats to %s\n", (long)OPFORGE_MATMUL_C_SIZE, argv[3]);
  free(a);
  free(b);
  free(c);
  return 0;
}
