#include "detail/pool_placement.hpp"
#include "dns_tls_share.hpp"
#include "engine_impl.hpp"

#include <curlasio/detail/engine_access.hpp>
#include <curlasio/engine_pool.hpp>

#include <stdexcept>

namespace curlasio {
namespace detail {

namespace {

using context_executor = boost::asio::io_context::executor_type;

// Whether the calling thread runs `e`'s io_context (false for any other
// kind of executor). The executor copy must outlive the pointer into it.
bool runs_here(const engine& e) noexcept {
    const engine::executor_type ex = e.get_executor();
    const context_executor* io = ex.target<context_executor>();
    return io != nullptr && io->running_in_this_thread();
}

// The group of the engines the calling thread runs, or no_group: the first
// engine of each group is asked (groups are numbered in order of first
// appearance).
std::uint32_t group_here(const pool_placement& p, const std::vector<engine>& engines) noexcept {
    std::uint32_t next_new = 0;
    for (std::size_t e = 0; e < engines.size() && next_new < p.groups(); ++e) {
        if (p.group(e) != next_new)
            continue;
        ++next_new;
        if (runs_here(engines[e]))
            return p.group(e);
    }
    return pool_placement::no_group;
}

} // namespace

pool_slot pool_place(pool_placement& p, const std::vector<engine>& engines, const std::string& url) noexcept {
    // With one group every engine is as local as any other.
    const std::uint32_t here = p.groups() > 1 ? group_here(p, engines) : pool_placement::no_group;
    const auto t = p.place(origin_key(url), here);
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
    // Engines on one io_context form a group (the placement keeps a fetch
    // on its caller's thread when it can); any other executor is a group of
    // its own.
    std::vector<std::uint32_t> groups;
    std::vector<const boost::asio::io_context*> contexts;
    groups.reserve(executors.size());
    for (const auto& ex : executors) {
        const auto* io = ex.target<boost::asio::io_context::executor_type>();
        const boost::asio::io_context* key = io ? &io->context() : nullptr;
        std::uint32_t g = 0;
        while (g < contexts.size() && (key == nullptr || contexts[g] != key))
            ++g;
        if (g == contexts.size())
            contexts.push_back(key);
        groups.push_back(g);
    }
    placement_ = std::make_shared<detail::pool_placement>(groups);
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
