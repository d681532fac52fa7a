/** The JSON policy language: loader, rules and warnings, compiler to io_uring restrictions. */
module org.ringwarden.policies {
    requires transitive org.ringwarden.linux;
    requires com.fasterxml.jackson.core;

    exports org.ringwarden.policy;
}
