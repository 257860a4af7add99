#define BOOST_TEST_MODULE curlasio_integration
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

namespace {

// Thousands of loopback transfers need both ends' descriptors in this one
// process: lift the soft open-file limit to the hard one.
struct raise_fd_limit {
    raise_fd_limit() {
        rlimit lim{};
        if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
            lim.rlim_cur = lim.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &lim);
        }
    }
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(raise_fd_limit);
