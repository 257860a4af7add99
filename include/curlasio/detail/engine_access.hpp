#ifndef CURLASIO_DETAIL_ENGINE_ACCESS_HPP
#define CURLASIO_DETAIL_ENGINE_ACCESS_HPP

// The narrow interface the operation templates (async_fetch) need of an
// engine, whose state (detail::engine_impl) is private to the library.

#include <curlasio/detail/body_sink.hpp>
#include <curlasio/detail/transfer.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/request.hpp>

#include <boost/asio/cancellation_type.hpp>

#include <cstdint>
#include <memory>

namespace curlasio::detail {

class engine_impl;

/// From any thread: a transfer id unique within the engine.
std::uint64_t next_transfer_id(engine_impl& e) noexcept;
/// From any thread: hands `t` and its request to the engine (posted).
/// `sink`, when given, takes the body (and must outlive the transfer).
void submit(engine_impl& e, transfer_ptr t, request&& req, body_sink* sink = nullptr);
/// The engine's executor.
const boost::asio::any_io_executor& executor_of(const engine_impl& e) noexcept;
/// From any thread: resumes transfer `id` after its sink paused (posted).
void resume_async(engine_impl& e, std::uint64_t id);
/// From any thread: aborts transfer `id` if `type` may at its stage (posted).
void cancel_async(engine_impl& e, std::uint64_t id, boost::asio::cancellation_type type);

/// The engine's state, for the operation templates and for the library's
/// own tests; null for a moved-from engine.
struct engine_access {
    static const std::shared_ptr<engine_impl>& impl(const engine& e) noexcept { return e.impl_; }
};

} // namespace curlasio::detail

#endif
