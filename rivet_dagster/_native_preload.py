"""Load mysql-connector's C extension before anything imports pyarrow.

pyarrow's shared libraries use up the static TLS block; if ``_mysql_connector`` is
dlopen'ed afterwards it fails with "cannot allocate memory in static TLS block" and
mysql-connector silently falls back to its pure-Python protocol, which is several
times slower. Importing the extension first avoids that, so every entry point of the
package imports this module before pyarrow.
"""

try:  # pragma: no cover - exercised implicitly by every import of the package
    import _mysql_connector  # noqa: F401
except ImportError:
    pass
