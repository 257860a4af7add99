#define BOOST_TEST_MODULE curlasio_unit
#include <boost/test/unit_test.hpp>

#include <toolkit/curl_version.hpp>

using curlasio::test::report_curl_version;
BOOST_TEST_GLOBAL_FIXTURE(report_curl_version);
