# Runs at install time (cmake --install, cpack): installs the configuration and
# the systemd unit, whose paths depend on the prefix chosen then, not on the
# one given at configure time (cpack installs with /usr; a configured build
# defaults to /usr/local). Set by tools/package/CMakeLists.txt through
# install(CODE): RB_UNIT_IN, RB_CONF, RB_UNIT_OUT, RB_BINDIR, RB_DOCDIR.

# Debian's rule: a program in /usr or /usr/local keeps its configuration in
# /etc (GNUInstallDirs does so for /usr only); other prefixes keep their own.
string(REGEX REPLACE "/$" "" rb_prefix "${CMAKE_INSTALL_PREFIX}")
if(rb_prefix STREQUAL "/usr" OR rb_prefix STREQUAL "/usr/local")
  set(RB_CONFDIR /etc/ringbus)
else()
  set(RB_CONFDIR ${rb_prefix}/etc/ringbus)
endif()
# Debian 12's systemd (systemd.pc systemdsystemunitdir) has its units in
# /lib/systemd/system; systemd also reads PREFIX/lib/systemd/system for
# /usr/local.
if(rb_prefix STREQUAL "/usr")
  set(rb_unitdir /lib/systemd/system)
else()
  set(rb_unitdir ${rb_prefix}/lib/systemd/system)
endif()
foreach(dir RB_BINDIR RB_DOCDIR)
  if(NOT IS_ABSOLUTE "${${dir}}")
    set(${dir} ${rb_prefix}/${${dir}})
  endif()
endforeach()

configure_file(${RB_UNIT_IN} ${RB_UNIT_OUT} @ONLY)
file(INSTALL ${RB_UNIT_OUT} DESTINATION ${rb_unitdir}
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# The example configuration, 0640 (it may hold passwords; see the unit's
# comments for the group). An existing file is the administrator's: kept.
if(EXISTS "$ENV{DESTDIR}${RB_CONFDIR}/ringbus.conf")
  message(STATUS "Kept: $ENV{DESTDIR}${RB_CONFDIR}/ringbus.conf (exists)")
else()
  file(INSTALL ${RB_CONF} DESTINATION ${RB_CONFDIR}
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
endif()
