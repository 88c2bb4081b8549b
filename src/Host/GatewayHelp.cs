namespace Fantasy.Actors.Host;

/// <summary>What <c>fantasy-gateway --help</c> prints: how to start it and the settings it reads.</summary>
internal static class GatewayHelp
{
    public static bool Asked(string[] args) => args.Any(a => a is "--help" or "-h" or "-?");

    public const string Text = """
        fantasy-gateway — an OpenAI-compatible gateway: the Responses API in WebSocket mode, one warm socket per conversation.

        usage: fantasy-gateway [--urls http://127.0.0.1:5080] [--Key=value ...]

        Settings come from appsettings.json in the working directory, environment variables (Fantasy__Upstream__ApiKey)
        and the command line (--Fantasy:Upstream:ApiKey=...). Without an upstream the embedded simulator is used.
        Prints "READY <url>/v1 ..." when it listens; SIGTERM drains running turns, then exits 0.

          urls                                        where it listens (default http://127.0.0.1:5080)
          Fantasy:Upstream:BaseUrl                    the Responses API, e.g. https://api.openai.com/v1 (empty: embedded simulator)
          Fantasy:Upstream:WebSocketUrl               explicit WebSocket URL (default: derived from BaseUrl)
          Fantasy:Upstream:ApiKey                     the upstream key (default OPENAI_API_KEY); never logged
          Fantasy:Upstream:Organization / Project     OpenAI-Organization / OpenAI-Project headers
          Fantasy:Tenants:<name>:Keys:<n>             gateway keys of a tenant (none: tenant dev with key sk-fantasy-dev)
          Fantasy:Tenants:<name>:UpstreamApiKey       the tenant's own upstream key (and UpstreamBaseUrl)
          Fantasy:Tenants:<name>:MaxSessions          sessions the tenant may hold (MaxQueuedTurns: its queue per session)
          Fantasy:Tenants:<name>:Limits:RequestsPerMinute / TokensPerMinute / ConcurrentTurns / MaxWait / MaxQueued
                                                      the tenant's rate limits (429 rate_limit_exceeded with Retry-After)
          Fantasy:Tenants:<name>:Weight               the tenant's share when turns wait for the upstream's budget (default 1)
          Fantasy:Gateway:MaxBodyBytes                largest request body (default 16777216)
          Fantasy:Gateway:DrainTimeout                how long SIGTERM waits for running turns (default 00:00:30)
          Fantasy:Gateway:WarmUp                      warm the code up before listening (default true)
          Fantasy:Gateway:MetricsKey / MetricsLoopbackOnly   who may read /metrics (default loopback only)
          Fantasy:Gateway:ResponseIdsPerTenant        response ids kept in memory per tenant (default 100000)
          Fantasy:Gateway:KeptResponsesPerTenant      responses the gateway answers retrieve/input_items/cancel/delete for (default 1000)
          Fantasy:Gateway:ModelsCacheDuration         how long GET /v1/models is served from a copy (default 00:01:00)
          Fantasy:Gateway:SharedPassThrough:<n>       /v1 paths passed through on the shared upstream key (default models, responses, conversations, embeddings, moderations)
          Fantasy:Persistence:Provider                Sqlite (default; Data Source=data/fantasy.db), PostgreSql or None
          Fantasy:Persistence:ConnectionString / OnFailure / WriteTimeout / Retention / EncryptionKey
          Fantasy:Cluster:Enabled / Hostname / Port / SeedNodes:<n> / Roles:<n>   cluster mode
          Fantasy:Logging:Json / MinimumLevel         JSON log lines; the least level logged (default Information)
          Fantasy:Hocon                               actor tunables as HOCON (fantasy.session.*, fantasy.rate-limits.*, ...)

        Endpoints: POST /v1/responses, GET|DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items,
        POST /v1/responses/{id}/cancel, GET|DELETE /v1/sessions[/{id}], GET /healthz, /readyz, /metrics;
        everything else under /v1 is passed through to the tenant's upstream.
        """;
}
