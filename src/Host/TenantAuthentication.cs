namespace Fantasy.Actors.Host;

/// <summary>
/// Authenticates every <c>/v1</c> request once: the bearer key names the tenant, whose state the handlers read
/// with <see cref="TenantAuthenticationExtensions.Tenant"/>; an unknown or missing key is 401 before any handler runs.
/// </summary>
internal sealed class TenantAuthentication(GatewayOptions options, TenantDirectory directory) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (options.Authenticate(PresentedKey(http.Request)) is not { } tenant)
        {
            await (http.Request.Headers.Authorization.Count == 0
                ? OpenAIErrors.WriteAsync(http, 401, "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", code: "missing_api_key")
                : OpenAIErrors.WriteAsync(http, 401, "Incorrect API key provided.", code: "invalid_api_key"));
            return Results.Empty;
        }

        http.Items[typeof(TenantState)] = directory[tenant];
        return await next(context);
    }

    /// <summary>The key of an <c>Authorization: Bearer &lt;key&gt;</c> header, or null.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }
}

internal static class TenantAuthenticationExtensions
{
    /// <summary>The tenant <see cref="TenantAuthentication"/> authenticated for this request.</summary>
    public static TenantState Tenant(this HttpContext context) =>
        context.Items[typeof(TenantState)] as TenantState
        ?? throw new InvalidOperationException("no tenant: the endpoint is not behind TenantAuthentication");
}
