#ifndef CURLASIO_CURLASIO_HPP
#define CURLASIO_CURLASIO_HPP

#include <curlasio/async_fetch.hpp>
#include <curlasio/cookie_jar.hpp>
#include <curlasio/download_stream.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/engine_options.hpp>
#include <curlasio/engine_pool.hpp>
#include <curlasio/error.hpp>
#include <curlasio/method.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>
#include <curlasio/upload_source.hpp>

#endif
