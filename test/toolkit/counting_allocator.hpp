#ifndef CURLASIO_TEST_TOOLKIT_COUNTING_ALLOCATOR_HPP
#define CURLASIO_TEST_TOOLKIT_COUNTING_ALLOCATOR_HPP

// A handler allocator (asio::bind_allocator) that counts what is allocated
// and freed through it, so that a test can see the operation state comes
// from the handler's allocator and is gone before the handler runs.

#include <atomic>
#include <cstddef>
#include <memory>

namespace curlasio::test {

// Shared by an allocator and all its rebound copies.
struct allocation_counts {
    std::atomic<int> allocations{0};
    std::atomic<int> frees{0};
};

template <typename T>
class counting_allocator {
public:
    using value_type = T;

    counting_allocator() : counts_(std::make_shared<allocation_counts>()) {}
    // Rebound copies share the counts.
    template <typename U>
    counting_allocator(const counting_allocator<U>& o) noexcept : counts_(o.counts_) {}

    T* allocate(std::size_t n) {
        T* p = std::allocator<T>().allocate(n);
        ++counts_->allocations;
        return p;
    }
    void deallocate(T* p, std::size_t n) {
        ++counts_->frees;
        std::allocator<T>().deallocate(p, n);
    }

    int allocations() const noexcept { return counts_->allocations.load(); }
    int frees() const noexcept { return counts_->frees.load(); }
    int live() const noexcept { return allocations() - frees(); }

    template <typename U>
    bool operator==(const counting_allocator<U>& o) const noexcept {
        return counts_ == o.counts_;
    }
    template <typename U>
    bool operator!=(const counting_allocator<U>& o) const noexcept {
        return counts_ != o.counts_;
    }

private:
    template <typename U>
    friend class counting_allocator;
    std::shared_ptr<allocation_counts> counts_;
};

} // namespace curlasio::test

#endif
