// The generated header from C++: it must compile warning-free as C++11 and link from C++, with
// every netrig type and function usable as-is. The C++17 RAII wrappers are include/netrig.hpp
// (cxx_tour.cpp shows them, cxx_header_test.cpp tests them).
#include <cstdio>
#include <string>

#include "netrig.h"

int main() {
    netrig_store store{};
    if (netrig_store_new(nullptr, &store) != NETRIG_OK) return 1;
    if (netrig_store_set_str(store, "dut/1/state", "running", NETRIG_TTL_NEVER) != NETRIG_OK) return 1;

    std::string value(16, '\0');
    size_t len = 0;
    if (netrig_store_get_str(store, "dut/1/state", &value[0], value.size(), &len, nullptr) != NETRIG_OK) return 1;
    value.resize(len);

    if (netrig_store_free(store) != NETRIG_OK) return 1;
    const netrig_status freed_twice = netrig_store_free(store);
    std::printf("C++: dut/1/state = %s; second free: %s\n", value.c_str(), netrig_status_str(freed_twice));
    return value == "running" && freed_twice == NETRIG_E_INVALID_HANDLE ? 0 : 1;
}
