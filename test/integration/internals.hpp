#ifndef CURLASIO_TEST_INTEGRATION_INTERNALS_HPP
#define CURLASIO_TEST_INTEGRATION_INTERNALS_HPP

// The engine's private state, for the fault-injection tests only: its test
// hooks (debug_watch, debug_lose_wakeups) are not part of the public API.

#include "engine_impl.hpp" // src/, through curlasio_internals

#include <curlasio/detail/engine_access.hpp>

namespace curlasio::test {

inline detail::engine_impl& internals(engine& e) { return *detail::engine_access::impl(e); }

} // namespace curlasio::test

#endif
