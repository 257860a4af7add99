#define BOOST_TEST_MODULE curlasio_unit
#include <boost/test/unit_test.hpp>
