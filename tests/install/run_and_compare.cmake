# Run as: cmake -DEXE=path [-DRUN_ARGS=a;b] -DEXPECT_FILE=file -P run_and_compare.cmake
# Runs EXE and fails unless it exits 0 and prints exactly EXPECT_FILE's text.
execute_process(COMMAND ${EXE} ${RUN_ARGS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${EXE} printed:\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} failed: ${rc}")
endif()
file(READ ${EXPECT_FILE} expected)
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "${EXE} did not print what ${EXPECT_FILE} holds:\n${expected}")
endif()
message(STATUS "output as expected (${EXPECT_FILE})")
