-- moat schema v4: give rows made before v2 what v2 gives new ones: a
-- product type from their region, the smallest specification of that
-- product, and the owner's default resource group.

UPDATE accounts SET resource_group_id = 'rg-acfm' || substr(lower(hex(randomblob(8))), 1, 11)
    WHERE resource_group_id = '';

UPDATE instances SET product_type = CASE region WHEN 'ap-southeast-1' THEN 'ddosDip' ELSE 'ddoscoo' END
    WHERE product_type = '';

UPDATE instances SET spec = CASE product_type
    WHEN 'ddosDip' THEN '{"BaseBandwidth":0,"Bandwidth":0,"ServiceBandwidth":0,"PortCount":50,"DomainCount":50,"FunctionVersion":0,"NormalBandwidth":100,"NormalQps":3000,"ProductPlan":' || edition || ',"BurstMode":0,"ServicePartner":"coop-line-001","EditionSale":"coop","AddressType":"Ipv4"}'
    ELSE '{"BaseBandwidth":30,"Bandwidth":30,"ServiceBandwidth":100,"PortCount":50,"DomainCount":50,"FunctionVersion":0,"NormalBandwidth":0,"NormalQps":3000,"ProductPlan":0,"BurstMode":0,"ServicePartner":"coop-line-001","EditionSale":"coop","AddressType":"Ipv4"}'
    END
    WHERE spec = '{}';

UPDATE instances SET resource_group_id = (SELECT a.resource_group_id FROM accounts a WHERE a.account_id = instances.account_id)
    WHERE resource_group_id = '';
