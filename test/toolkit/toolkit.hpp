#ifndef CURLASIO_TEST_TOOLKIT_TOOLKIT_HPP
#define CURLASIO_TEST_TOOLKIT_TOOLKIT_HPP

// The test toolkit, all of it. test/support holds the peers (servers, PKI),
// which know nothing of curlasio or Boost.Test; test/toolkit holds what the
// tests assert with, built on both.

#include "counting_allocator.hpp"
#include "engine_fixture.hpp"
#include "fd_limit.hpp"
#include "fds.hpp"
#include "held_read.hpp"
#include "memory.hpp"
#include "probe.hpp"
#include "routes.hpp"
#include "run.hpp"
#include "tracking_executor.hpp"

#endif
