#include "engine_registry.hpp"

#include "engine_impl.hpp"

namespace curlasio::detail {

void engine_registry::add(engine_impl* e) {
    std::lock_guard lock(mutex_);
    engines_.insert(e);
}

void engine_registry::remove(engine_impl* e) noexcept {
    std::lock_guard lock(mutex_);
    engines_.erase(e);
}

void engine_registry::shutdown() {
    std::unordered_set<engine_impl*> all;
    {
        std::lock_guard lock(mutex_);
        all.swap(engines_);
    }
    for (engine_impl* e : all)
        e->context_shutdown();
}

} // namespace curlasio::detail
