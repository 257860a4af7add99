#include "detail/pool_placement.hpp"
#include "dns_tls_share.hpp"
#include "engine_impl.hpp"

#include <curlasio/detail/engine_access.hpp>
#include <curlasio/engine_pool.hpp>

#include <stdexcept>

namespace curlasio {
namespace detail {

pool_slot pool_place(pool_placement& p, const std::string& url) noexcept {
    const auto t = p.place(origin_key(url));
    return {t.engine, t.slot};
}

void pool_finished(pool_placement& p, pool_slot s, bool ok) noexcept { p.finished({s.engine, s.slot}, ok); }

} // namespace detail

engine_pool::engine_pool(boost::asio::io_context& io, std::size_t engines, const engine_options& options)
    : engine_pool(executor_type(io.get_executor()), engines, options) {}

engine_pool::engine_pool(const executor_type& ex, std::size_t engines, const engine_options& options)
    : executor_(ex) {
    make_engines(std::vector<executor_type>(engines == 0 ? 1 : engines, ex), options);
}

engine_pool::engine_pool(const std::vector<executor_type>& executors, const engine_options& options) {
    if (executors.empty())
        throw std::invalid_argument("engine_pool: no executor");
    executor_ = executors.front();
    make_engines(executors, options);
}

void engine_pool::make_engines(const std::vector<executor_type>& executors, const engine_options& options) {
    share_ = std::make_shared<detail::dns_tls_share>();
    placement_ = std::make_shared<detail::pool_placement>(executors.size());
    engines_.reserve(executors.size());
    for (const auto& ex : executors) {
        engines_.emplace_back(ex, options);
        // Before any fetch can reach the engine: nothing else touches it yet.
        detail::engine_access::impl(engines_.back())->use_share(share_);
    }
}

engine_pool::engine_pool(engine_pool&& other) noexcept
    : executor_(other.executor_), share_(std::move(other.share_)), placement_(std::move(other.placement_)),
      engines_(std::move(other.engines_)) {
    other.engines_.clear();
}

engine_pool& engine_pool::operator=(engine_pool&& other) noexcept {
    if (this != &other) {
        engines_.clear(); // aborts this pool's transfers
        executor_ = other.executor_;
        share_ = std::move(other.share_);
        placement_ = std::move(other.placement_);
        engines_ = std::move(other.engines_);
        other.engines_.clear();
    }
    return *this;
}

engine_pool::~engine_pool() = default;

void engine_pool::cancel() {
    for (auto& e : engines_)
        e.cancel();
}

engine_stats engine_pool::stats() const noexcept {
    engine_stats sum;
    for (const auto& e : engines_) {
        const engine_stats s = e.stats();
        sum.stalls_kicked += s.stalls_kicked;
        sum.busy_sockets_suspended += s.busy_sockets_suspended;
        sum.stray_data_connections += s.stray_data_connections;
    }
    return sum;
}

std::size_t engine_pool::in_flight(std::size_t i) const noexcept {
    return placement_ ? placement_->in_flight(i) : 0;
}

std::pair<std::uint64_t, std::uint64_t> engine_pool::debug_share_locks() const noexcept {
    if (!share_)
        return {0, 0};
    return {share_->locks(CURL_LOCK_DATA_DNS), share_->locks(CURL_LOCK_DATA_SSL_SESSION)};
}

} // namespace curlasio
