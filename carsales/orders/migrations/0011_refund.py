import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0010_payment_method_and_reference'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='refund_reference',
            field=models.CharField(blank=True, editable=False, help_text="The refund's transfer or card slip reference: what the buyer quotes to find it.", max_length=100),
        ),
        migrations.AddField(
            model_name='order',
            name='refunded_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('refunded_at__isnull', True), models.Q(('is_active', False), models.Q(('void_reason', 'payment'), _negated=True)), _connector='OR'), name='order_refund_only_if_voided_with_a_payment'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('refunded_at__isnull', False), ('refund_reference', ''), _connector='OR'), name='order_refund_reference_only_if_refunded'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('refund_reference'), 100), ('refund_reference__regex', '\\A(?:[^\\x00-\\x20\\x7f-\\xa0\\xad\\u034f\\u061c\\u115f\\u1160\\u180e\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u206f\\u2800\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff9-\\ufffb\\U000e0000-\\U000e007f]+(?: [^\\x00-\\x20\\x7f-\\xa0\\xad\\u034f\\u061c\\u115f\\u1160\\u180e\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u206f\\u2800\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff9-\\ufffb\\U000e0000-\\U000e007f]+)*)?\\Z')), name='order_refund_reference_as_stored'),
        ),
    ]
