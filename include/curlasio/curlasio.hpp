#ifndef CURLASIO_CURLASIO_HPP
#define CURLASIO_CURLASIO_HPP

/// @file
/// The umbrella header: the engine, requests and responses, async_fetch,
/// streams, upload sources, errors, cookie jars and the engine pool. Not in
/// it, each a CMake target of its own: beast.hpp (curlasio::beast),
/// json.hpp (curlasio::json), session.hpp (curlasio::session).

/// @namespace curlasio
/// libcurl's multi interface inside a Boost.Asio io_context: every transfer
/// an Asio asynchronous operation (async_fetch) that takes any completion
/// token, with per-operation cancellation. Tutorial pages: see the main page.

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
