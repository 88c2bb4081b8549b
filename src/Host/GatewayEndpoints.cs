namespace Fantasy.Actors.Host;

/// <summary>The gateway's HTTP API: the tenant's <c>/v1</c> routes behind one authentication filter, and the operator's.</summary>
internal static class GatewayEndpoints
{
    public static void Map(WebApplication app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter<TenantAuthentication>();
        v1.MapPost("/responses", ResponsesEndpoint.CreateAsync);
        v1.MapGet("/sessions", SessionsEndpoints.ListAsync);
        v1.MapGet("/sessions/{id}", SessionsEndpoints.GetAsync);
        v1.MapDelete("/sessions/{id}", SessionsEndpoints.DeleteAsync);
        app.MapGet("/healthz", HealthEndpoints.HealthAsync);
        app.MapGet("/readyz", HealthEndpoints.ReadyAsync);
    }
}
