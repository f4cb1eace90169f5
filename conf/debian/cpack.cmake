# The Debian package, built from the tree with CPack's DEB generator
# (included from the top-level CMakeLists.txt):
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build -j2 && (cd build && cpack)      # -> build/tierd_<version>_<arch>.deb
#
# The package is what `cmake --install` puts in place (the unit, man pages,
# completions, the journal catalog, /etc/tierd.conf) minus libtier's
# development files (component libtier-dev), with
#   - Depends from dpkg-shlibdeps (libnuma1, libsystemd0, libcgroup2,
#     libinih1, libjson-c5, libc6);
#   - /etc/tierd.conf a conffile (an admin's edits survive upgrades; dpkg
#     asks when both changed; kept on remove, gone on purge);
#   - maintainer scripts that do what dh_installsystemd would
#     (deb-systemd-helper, deb-systemd-invoke; init-system-helpers is
#     Essential in Debian 12): enabled and started on installation,
#     restarted on upgrade, stopped on removal, enablement state removed on
#     purge (postinst, prerm, postrm here);
#   - binaries stripped like dh_strip (strip.cmake), gzipped man pages, /usr/share/doc/tierd/copyright
#     and changelog.gz, md5sums, root-owned files (what lintian expects).
# Debian 12 places: /usr/sbin, /usr/bin, /lib/systemd/system (systemd.pc),
# /usr/lib/systemd/catalog, /usr/share/bash-completion/completions: the
# install rules take them from pkg-config when the prefix is /usr, and only
# a build with prefix /usr can be packaged (the unit's ExecStart= and the
# absolute directories are fixed at configure time).

set(TIERD_DEB_DIR ${CMAKE_CURRENT_LIST_DIR})

# Documentation every Debian package carries (also installed by
# `cmake --install`, to the prefix's docdir).
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
  COMMAND gzip -9n < ${TIERD_DEB_DIR}/changelog > ${CMAKE_BINARY_DIR}/changelog.gz
  DEPENDS ${TIERD_DEB_DIR}/changelog VERBATIM)
add_custom_target(tierd-changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
install(FILES ${TIERD_DEB_DIR}/copyright ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
# lintian's findings that were reviewed and stay, each with its reason.
install(FILES ${TIERD_DEB_DIR}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME tierd)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tierd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "tierd developers")
set(CPACK_PACKAGE_CONTACT "tierd developers <tierd@packages.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memory-tiering daemon: demotion guard, tier relief, private-node fencing")
# The extended description (the synopsis is the summary above).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "tierd watches the memory tiers of a Linux host (DRAM, CXL expanders, PMEM,
slow NUMA nodes) and steps in where the kernel gets tiering wrong.
.
The demotion guard turns kernel demotion off before a lower tier fills,
so reclaim reaches the OOM killer instead of stalling the host for
minutes; relief moves pages off full lower-tier nodes with move_pages(2);
fencing keeps private nodes for the cgroups granted them (cpuset.mems or
systemd's AllowedMemoryNodes=).  Every setting tierd changes is recorded
and restored when it stops.
.
tierctl shows the daemon's view (tierctl status) and exports it for
Prometheus (tierctl metrics, or a textfile for node_exporter).")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)           # tierd_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus-node-exporter, numactl")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${TIERD_DEB_DIR}/conffiles ${TIERD_DEB_DIR}/postinst ${TIERD_DEB_DIR}/prerm ${TIERD_DEB_DIR}/postrm)
# 0644 for conffiles, 0755 for the scripts, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Stripped as dh_strip does it (strip.cmake), not with CPACK_STRIP_FILES.
set(CPACK_PRE_BUILD_SCRIPTS ${TIERD_DEB_DIR}/strip.cmake)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Only the default component: libtier's static library, headers and .pc
# (COMPONENT libtier-dev in lib/) are not for a daemon package.
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};Unspecified;/")
set(CPACK_SOURCE_IGNORE_FILES "/build.*/" "/\\\\.git/")

# A tree configured for another prefix would produce a broken package
# (ExecStart=/usr/local/sbin/tierd, /usr/local/lib/systemd/catalog): cpack
# refuses it and says how to configure.
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/CPackTierdChecks.cmake)
file(WRITE ${CPACK_PROJECT_CONFIG_FILE} "
if(NOT \"${CMAKE_INSTALL_PREFIX}\" STREQUAL \"/usr\")
  message(FATAL_ERROR \"tierd: this build has CMAKE_INSTALL_PREFIX=${CMAKE_INSTALL_PREFIX}; \"
    \"a Debian package needs a build configured with -DCMAKE_INSTALL_PREFIX=/usr\")
endif()
if(\"${TIERD_SANITIZE}\" OR \"${TIERD_STATIC}\")
  message(FATAL_ERROR \"tierd: not packaging a sanitizer or static build (TIERD_SANITIZE/TIERD_STATIC)\")
endif()
")

include(CPack)
