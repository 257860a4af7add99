#ifndef CURLASIO_SRC_ENGINE_REGISTRY_HPP
#define CURLASIO_SRC_ENGINE_REGISTRY_HPP

// An execution-context service: when the context shuts down (its destructor
// runs) while engines still live, they must free their libcurl state then,
// because nothing can be posted to the context afterwards.

#include <boost/asio/execution_context.hpp>

#include <mutex>
#include <unordered_set>

namespace curlasio::detail {

class engine_impl;

class engine_registry final : public boost::asio::execution_context::service {
public:
    static inline boost::asio::execution_context::id id;

    explicit engine_registry(boost::asio::execution_context& ctx) : service(ctx) {}

    void add(engine_impl* e);
    void remove(engine_impl* e) noexcept;

private:
    void shutdown() override;

    std::mutex mutex_;
    std::unordered_set<engine_impl*> engines_;
};

} // namespace curlasio::detail

#endif
