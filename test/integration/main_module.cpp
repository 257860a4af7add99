#define BOOST_TEST_MODULE curlasio_integration
#include <boost/test/unit_test.hpp>

#include <toolkit/curl_version.hpp>
#include <toolkit/fd_limit.hpp>

using curlasio::test::raise_fd_limit;
using curlasio::test::report_curl_version;
BOOST_TEST_GLOBAL_FIXTURE(report_curl_version);
BOOST_TEST_GLOBAL_FIXTURE(raise_fd_limit);
