"""Fix-it texts shared by every transport's error translation, so both clients say the same."""

# Retrying cannot make a record fit: the topic or producer limit has to be raised.
TOO_LARGE = (
    "a record is larger than an output topic (max.message.bytes) or the producer "
    "(kafka.max_request_size) accepts; raise them to at least the source topic's limit plus "
    "room for the guard's headers"
)

# A rejected login: the same credentials will be rejected again.
CHECK_LOGIN = (
    "check kafka.sasl_mechanism (enabled on this listener?), kafka.sasl_plain_username and "
    "kafka.sasl_plain_password"
)

# A TLS handshake refused for a certificate: the same files will be refused again.
CHECK_TLS_CA = (
    "check kafka.ssl_cafile (it must hold the CA that signed the broker's certificate) and, if "
    "the host name is the problem, the bootstrap address or kafka.ssl_check_hostname"
)
CHECK_TLS_CERT = (
    "check kafka.ssl_certfile and kafka.ssl_keyfile: the broker requires a client certificate "
    "signed by a CA it trusts (its ssl.truststore)"
)
