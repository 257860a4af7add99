#include "pool_placement.hpp"

#include <limits>

namespace curlasio::detail {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::uint64_t mix(std::uint64_t h, std::string_view s) noexcept {
    for (char c : s) {
        h ^= static_cast<unsigned char>(lower(c));
        h *= 0x100000001b3ull;
    }
    return h;
}

} // namespace

std::uint64_t origin_key(std::string_view url) noexcept {
    std::string_view scheme = "http";
    if (const auto colon = url.find("://"); colon != std::string_view::npos) {
        scheme = url.substr(0, colon);
        url.remove_prefix(colon + 3);
    }
    std::string_view authority = url.substr(0, url.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    // The port follows the last colon, unless that colon is inside an IPv6 literal.
    std::string_view host = authority, port;
    if (const auto colon = authority.rfind(':');
        colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (port.empty()) {
        const bool https = scheme.size() == 5 && lower(scheme[4]) == 's';
        port = https ? "443" : "80";
    }
    std::uint64_t h = 0xcbf29ce484222325ull;
    h = mix(h, scheme);
    h = mix(h, "://");
    h = mix(h, host);
    h = mix(h, ":");
    return mix(h, port);
}

pool_placement::pool_placement(std::size_t engines)
    : count_(engines == 0 ? 1 : engines), counters_(new engine_counters[count_]) {}

pool_placement::pool_placement(const std::vector<std::uint32_t>& group_of_engine)
    : pool_placement(group_of_engine.size()) {
    for (std::size_t e = 0; e < group_of_engine.size(); ++e) {
        counters_[e].group = group_of_engine[e];
        if (group_of_engine[e] >= groups_)
            groups_ = group_of_engine[e] + 1;
    }
}

std::uint32_t pool_placement::group(std::size_t engine) const noexcept {
    return engine < count_ ? counters_[engine].group : no_group;
}

pool_placement::ticket pool_placement::place(std::uint64_t origin, std::uint32_t here) noexcept {
    const std::uint32_t slot = slot_of(origin);
    // Rank: an engine of the calling thread's group first, then the load.
    auto better = [&](std::size_t e, std::uint32_t load, std::size_t than, std::uint32_t than_load) {
        if (than == count_)
            return true;
        const bool local = counters_[e].group == here, than_local = counters_[than].group == here;
        return local != than_local ? local : load < than_load;
    };
    // Two tries: a credit another thread took between the look and the take
    // sends us round once more, then to the least loaded engine.
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::uint32_t min_load = std::numeric_limits<std::uint32_t>::max();
        std::size_t least = count_;
        for (std::size_t e = 0; e < count_; ++e) {
            const std::uint32_t load = counters_[e].in_flight.load(std::memory_order_relaxed);
            if (load < min_load || (load == min_load && better(e, load, least, min_load))) {
                min_load = load;
                least = e;
            }
        }
        const std::uint32_t spare = min_load + 1 + min_load / 4;
        std::size_t best = count_;
        std::uint32_t best_load = std::numeric_limits<std::uint32_t>::max();
        for (std::size_t e = 0; e < count_; ++e) {
            const std::uint32_t load = counters_[e].in_flight.load(std::memory_order_relaxed);
            if (load <= spare && counters_[e].credit[slot].load(std::memory_order_relaxed) > 0 &&
                better(e, load, best, best_load)) {
                best = e;
                best_load = load;
            }
        }
        if (best != count_) {
            auto& credit = counters_[best].credit[slot];
            std::uint32_t have = credit.load(std::memory_order_relaxed);
            while (have > 0 && !credit.compare_exchange_weak(have, have - 1, std::memory_order_relaxed))
                ;
            if (have > 0) {
                counters_[best].in_flight.fetch_add(1, std::memory_order_relaxed);
                return {static_cast<std::uint32_t>(best), slot};
            }
            continue;
        }
        counters_[least].in_flight.fetch_add(1, std::memory_order_relaxed);
        return {static_cast<std::uint32_t>(least), slot};
    }
    // Lost both races: the least loaded, looked at once more.
    std::size_t least = 0;
    for (std::size_t e = 1; e < count_; ++e)
        if (counters_[e].in_flight.load(std::memory_order_relaxed) <
            counters_[least].in_flight.load(std::memory_order_relaxed))
            least = e;
    counters_[least].in_flight.fetch_add(1, std::memory_order_relaxed);
    return {static_cast<std::uint32_t>(least), slot};
}

void pool_placement::finished(ticket t, bool connection_kept) noexcept {
    if (t.engine >= count_)
        return;
    auto& c = counters_[t.engine];
    if (connection_kept && t.slot < slots) {
        // Saturating: a slot never wraps, however long an origin goes unused.
        std::uint32_t have = c.credit[t.slot].load(std::memory_order_relaxed);
        while (have < std::numeric_limits<std::uint32_t>::max() / 2 &&
               !c.credit[t.slot].compare_exchange_weak(have, have + 1, std::memory_order_relaxed))
            ;
    }
    c.in_flight.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t pool_placement::in_flight(std::size_t engine) const noexcept {
    return engine < count_ ? counters_[engine].in_flight.load(std::memory_order_relaxed) : 0;
}

std::size_t pool_placement::credits(std::size_t engine, std::uint64_t origin) const noexcept {
    return engine < count_ ? counters_[engine].credit[slot_of(origin)].load(std::memory_order_relaxed) : 0;
}

} // namespace curlasio::detail
