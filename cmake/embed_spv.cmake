# Wraps the array that `glslangValidator --vn` wrote into NAME_spv.h as a C file with its size.
file(WRITE ${OUT} "/* generated */\n#include <stddef.h>\n#include <stdint.h>\n#include \"${NAME}_spv.h\"\nconst size_t pv_spv_${NAME}_size = sizeof(pv_spv_${NAME});\n")
