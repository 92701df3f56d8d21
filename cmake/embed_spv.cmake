# Wraps the array SYM that `glslangValidator --vn SYM` wrote into NAME_spv.h as a C file with its size.
file(WRITE ${OUT} "/* generated */\n#include <stddef.h>\n#include <stdint.h>\n#include \"${NAME}_spv.h\"\nconst size_t ${SYM}_size = sizeof(${SYM});\n")
