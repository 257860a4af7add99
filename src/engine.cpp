#include "engine_impl.hpp"

#include <curlasio/detail/engine_access.hpp>
#include <curlasio/engine.hpp>

namespace curlasio {
namespace detail {

std::uint64_t next_transfer_id(engine_impl& e) noexcept { return e.next_id(); }

void submit(engine_impl& e, transfer_ptr t, request&& req, body_sink* sink) {
    e.submit(std::move(t), std::move(req), sink);
}

void resume_async(engine_impl& e, std::uint64_t id) { e.resume_async(id); }

const boost::asio::any_io_executor& executor_of(const engine_impl& e) noexcept { return e.executor(); }

void cancel_async(engine_impl& e, std::uint64_t id, boost::asio::cancellation_type type) {
    e.cancel_async(id, type);
}

} // namespace detail

// ---- engine ----------------------------------------------------------------------------

engine::engine(boost::asio::io_context& io, const engine_options& options)
    : engine(io.get_executor(), options) {}

engine::engine(executor_type ex, const engine_options& options)
    : executor_(ex), impl_(std::make_shared<detail::engine_impl>(std::move(ex), options)) {}

engine::engine(engine&& other) noexcept : executor_(other.executor_), impl_(std::move(other.impl_)) {}

engine& engine::operator=(engine&& other) noexcept {
    if (this != &other) {
        if (impl_)
            impl_->close();
        executor_ = other.executor_;
        impl_ = std::move(other.impl_);
    }
    return *this;
}

engine::~engine() {
    if (impl_)
        impl_->close();
}

void engine::cancel() {
    if (impl_)
        impl_->cancel_all_async();
}

engine_stats engine::stats() const noexcept { return impl_ ? impl_->stats() : engine_stats{}; }

} // namespace curlasio
