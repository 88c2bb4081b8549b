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

        // The tenant's own responses, answered by the gateway (others passed through when the tenant may reach them).
        v1.MapGet("/responses/{id}", OwnResponsesEndpoints.GetAsync);
        v1.MapGet("/responses/{id}/input_items", OwnResponsesEndpoints.InputItemsAsync);
        v1.MapDelete("/responses/{id}", OwnResponsesEndpoints.DeleteAsync);
        v1.MapPost("/responses/{id}/cancel", OwnResponsesEndpoints.CancelAsync);

        // Passed through to the tenant's upstream: these two after checking the ids in their bodies, the rest as they are.
        v1.MapPost("/responses/input_tokens", PassThroughEndpoints.CheckedBodyAsync);
        v1.MapPost("/responses/compact", PassThroughEndpoints.CheckedBodyAsync);
        v1.Map("/{**rest}", PassThroughEndpoints.ForwardAsync);
        app.MapGet("/healthz", HealthEndpoints.HealthAsync);
        app.MapGet("/readyz", HealthEndpoints.ReadyAsync);
    }
}
