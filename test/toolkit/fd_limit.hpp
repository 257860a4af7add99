#ifndef CURLASIO_TEST_TOOLKIT_FD_LIMIT_HPP
#define CURLASIO_TEST_TOOLKIT_FD_LIMIT_HPP

#include <sys/resource.h>

namespace curlasio::test {

// Thousands of loopback transfers need both ends' descriptors in this one
// process: lifts the soft open-file limit to the hard one. A global fixture
// of every test module that talks to the test server.
struct raise_fd_limit {
    raise_fd_limit() {
        rlimit lim{};
        if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
            lim.rlim_cur = lim.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &lim);
        }
    }
};

} // namespace curlasio::test

#endif
