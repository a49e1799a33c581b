# Run as: cmake -DBUILD_DIR=.. -DSOURCE_DIR=.. -DWORK_DIR=.. [-DEXE=name]
#               [-DRUN_ARGS=a;b] [-DEXPECT_FILE=file | -DEXPECT_STRING=text]
#               -P install_and_consume.cmake
# Installs BUILD_DIR into WORK_DIR/prefix, configures and builds the project in
# SOURCE_DIR against it (find_package(libeql)), runs its executable EXE
# (default: consumer) with RUN_ARGS, and checks what it prints: exactly the
# text of EXPECT_FILE, or output containing EXPECT_STRING.
if(NOT DEFINED EXE)
  set(EXE consumer)
endif()
if(NOT DEFINED EXPECT_FILE AND NOT DEFINED EXPECT_STRING)
  set(EXPECT_STRING "\"name\":\"node\"")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
message(STATUS "install: cmake --install ${BUILD_DIR} --prefix ${prefix}")
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
message(STATUS "consumer: configure ${SOURCE_DIR} against find_package(libeql) in ${prefix}")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G Ninja
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer configure failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer build failed:\n${out}\n${err}")
endif()
message(STATUS "run: ${WORK_DIR}/build/${EXE} ${RUN_ARGS}")
execute_process(COMMAND ${WORK_DIR}/build/${EXE} ${RUN_ARGS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${EXE} printed:\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} failed: ${rc}")
endif()
if(DEFINED EXPECT_FILE)
  file(READ ${EXPECT_FILE} expected)
  if(NOT out STREQUAL expected)
    message(FATAL_ERROR "${EXE} did not print what ${EXPECT_FILE} holds:\n${expected}")
  endif()
else()
  string(FIND "${out}" "${EXPECT_STRING}" found)
  if(found EQUAL -1)
    message(FATAL_ERROR "${EXE} did not print the expected alert (${EXPECT_STRING})")
  endif()
endif()
message(STATUS "${EXE}: output as expected")
