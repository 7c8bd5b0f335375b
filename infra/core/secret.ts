/** Stands in for a `secure:` config value, which only the Pulumi CLI can decrypt, wherever it is shown offline. */
export const SECRET_PLACEHOLDER = "[secret]";
