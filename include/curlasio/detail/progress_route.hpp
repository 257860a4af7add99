#ifndef CURLASIO_DETAIL_PROGRESS_ROUTE_HPP
#define CURLASIO_DETAIL_PROGRESS_ROUTE_HPP

// Where request::on_progress runs: a handler with an executor of its own
// (a strand, a GUI's) gets the progress calls there, posted, in order and
// before its completion on that executor; otherwise they run in place, on
// the engine's executor inside libcurl. Used by async_fetch and
// download_stream::async_open.

#include <curlasio/engine.hpp>
#include <curlasio/request.hpp>

#include <boost/asio/post.hpp>

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace curlasio::detail {

template <typename HandlerExecutor>
void route_progress(request& req, const HandlerExecutor& to, const engine::executor_type& engine_ex) {
    if (!req.on_progress)
        return;
    if constexpr (std::is_same_v<HandlerExecutor, engine::executor_type>) {
        if (to == engine_ex)
            return; // called in place, inside libcurl
    }
    auto f = std::make_shared<std::function<void(const transfer_progress&)>>(std::move(req.on_progress));
    req.on_progress = [to, f](const transfer_progress& p) { boost::asio::post(to, [f, p] { (*f)(p); }); };
}

} // namespace curlasio::detail

#endif
