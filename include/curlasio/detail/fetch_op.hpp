#ifndef CURLASIO_DETAIL_FETCH_OP_HPP
#define CURLASIO_DETAIL_FETCH_OP_HPP

// The operation state of async_fetch: the concrete transfer that owns the
// handler, and the per-operation cancellation handler.

#include <curlasio/detail/engine_access.hpp>
#include <curlasio/detail/progress_route.hpp>
#include <curlasio/detail/transfer.hpp>
#include <curlasio/error.hpp>
#include <curlasio/response.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace curlasio::detail {

/// The allocator of operation state when the handler names none: Asio's own
/// choice for its operations, which recycles the memory of the last one
/// (a fetch loop then allocates nothing for its state).
using default_op_allocator = boost::asio::recycling_allocator<void>;

/// One fetch's state, allocated with the handler's associated allocator.
template <typename Handler>
class fetch_op final : public transfer {
public:
    using handler_executor = boost::asio::associated_executor_t<Handler, engine::executor_type>;
    using allocator_type = typename std::allocator_traits<
        boost::asio::associated_allocator_t<Handler, default_op_allocator>>::template rebind_alloc<fetch_op>;

    static fetch_op* create(Handler&& handler, engine_impl& eng, const engine::executor_type& ex) {
        allocator_type alloc(boost::asio::get_associated_allocator(handler, default_op_allocator()));
        fetch_op* p = std::allocator_traits<allocator_type>::allocate(alloc, 1);
        try {
            return ::new (static_cast<void*>(p)) fetch_op(std::move(handler), eng, ex);
        } catch (...) {
            std::allocator_traits<allocator_type>::deallocate(alloc, p, 1);
            throw;
        }
    }

// GCC 12 at -O2 takes the moved work guard's executor (held in Asio's
// aligned_storage, destroyed only when its owns_ flag says so) for maybe
// uninitialized when the executor holds a shared_ptr: a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
    void complete(error_code ec, response&& r) noexcept override {
        // Free the state before the upcall, so the handler may start the next
        // fetch with the same memory; then hand the handler to its executor.
        Handler handler(std::move(handler_));
        auto work = std::move(work_);
        free_self();
        auto alloc = boost::asio::get_associated_allocator(handler, std::allocator<void>());
        // The response travels boxed: posting moves the function object
        // several times, and a response is a few hundred bytes of strings.
        boost::asio::post(
            work.get_executor(),
            boost::asio::bind_allocator(
                alloc, [h = std::move(handler), ec, r = std::make_unique<response>(std::move(r))]() mutable {
                    boost::asio::get_associated_cancellation_slot(h).clear();
                    std::move(h)(ec, std::move(*r));
                }));
    }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

    void destroy() noexcept override { free_self(); }

    /// Where the handler runs (valid until the operation completes).
    handler_executor get_handler_executor() const noexcept { return work_.get_executor(); }

private:
    fetch_op(Handler&& handler, engine_impl& eng, const engine::executor_type& ex)
        : transfer(next_transfer_id(eng)), handler_(std::move(handler)),
          work_(boost::asio::get_associated_executor(handler_, ex)) {}

    void free_self() noexcept {
        allocator_type alloc(boost::asio::get_associated_allocator(handler_, default_op_allocator()));
        this->~fetch_op();
        std::allocator_traits<allocator_type>::deallocate(alloc, this, 1);
    }

    Handler handler_;
    boost::asio::executor_work_guard<handler_executor> work_;
};

/// Per-operation cancellation: posts to the engine, which decides by the
/// type and the transfer's stage (see async_fetch). Runs wherever the signal
/// is emitted.
struct fetch_cancellation {
    std::weak_ptr<engine_impl> engine;
    std::uint64_t id;

    void operator()(boost::asio::cancellation_type type) const {
        if (type == boost::asio::cancellation_type::none)
            return;
        if (auto e = engine.lock())
            cancel_async(*e, id, type);
    }
};

/// One transfer for `handler`: the whole of a plain async_fetch once the
/// engine is known to exist, and one attempt of a retried one.
template <typename Handler>
void start_fetch(const std::shared_ptr<engine_impl>& engine, const engine::executor_type& ex,
                 Handler&& handler, request&& req, body_sink* sink) {
    using op_type = fetch_op<std::decay_t<Handler>>;
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    std::decay_t<Handler> h(std::forward<Handler>(handler));
    op_type* op = op_type::create(std::move(h), *engine, ex);
    // Connect before submitting: once submitted the op may complete (and
    // be freed) on another thread at any moment.
    if (slot.is_connected())
        slot.template emplace<fetch_cancellation>(fetch_cancellation{engine, op->id});
    route_progress(req, op->get_handler_executor(), ex);
    // The request travels with the posted start, not in the operation
    // state: only what libcurl still needs is kept for the transfer.
    submit(*engine, transfer_ptr(op), std::move(req), sink);
}

} // namespace curlasio::detail

#endif
