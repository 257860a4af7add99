#ifndef CURLASIO_DETAIL_TRANSFER_HPP
#define CURLASIO_DETAIL_TRANSFER_HPP

// The engine's view of one in-flight fetch: its easy handle plus two
// type-erased exits. The concrete type (fetch_op<Handler>) lives in
// async_fetch.hpp and owns the handler.

#include <curlasio/detail/easy_handle.hpp>
#include <curlasio/error.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <cstdint>
#include <memory>

namespace curlasio::detail {

class transfer {
public:
    explicit transfer(std::uint64_t id) : id(id) {}
    transfer(const transfer&) = delete;
    transfer& operator=(const transfer&) = delete;

    /// Frees *this, then schedules the handler with (ec, r) on its executor.
    virtual void complete(error_code ec, response&& r) noexcept = 0;
    /// Frees *this without running the handler (its io_context is gone).
    virtual void destroy() noexcept = 0;

    easy_handle easy;
    const std::uint64_t id;
    /// The engine's action count when the handle was added to libcurl: while
    /// it is unchanged, libcurl has not run the transfer (no side effect yet).
    std::uint64_t added_at = 0;

protected:
    ~transfer() = default;
};

/// Owns a transfer that is not (yet) known to the engine, e.g. inside a
/// posted start that may be destroyed unrun when its io_context goes away.
struct transfer_deleter {
    void operator()(transfer* t) const noexcept { t->destroy(); }
};
using transfer_ptr = std::unique_ptr<transfer, transfer_deleter>;

} // namespace curlasio::detail

#endif
